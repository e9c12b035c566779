"""abiguard: which ABI-unstable library symbols does a program depend on, and how to get off them."""

__version__ = "0.1.0"
