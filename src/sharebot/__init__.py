"""sharebot: news articles to exact, previewable social posts, each posted exactly once."""

__version__ = "0.1.0"
