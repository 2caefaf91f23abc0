"""The pet-store server: static UI from the image directory, Swagger UI, and the generated API."""

__version__ = "1.0.0"
