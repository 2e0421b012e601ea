"""Data sets for training and evaluation: synthetic, PTB-XL, LUDB, labelled folders."""
