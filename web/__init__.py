"""The Flask web application."""
