"""fullpicture: one picture of a child across the agencies around them."""

__version__ = "0.1.0"
