"""Multitask convolutional networks of tile activity, trained with PyTorch Lightning."""
