try:
    from compare.cli import main
except KeyboardInterrupt:  # Ctrl-C while the libraries load: as main() answers it later
    import sys

    print("interrupted", file=sys.stderr)
    raise SystemExit(130) from None

raise SystemExit(main())
