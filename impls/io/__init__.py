"""What goes in and out of the project: data sets (datasets.py), model files (model_files.py, save_model and
load_model) and the files the commands write, each destination checked before the work and written
atomically (files.py)."""
