"""sharebot: news articles to exact, previewable social posts, each posted exactly once."""

__version__ = "0.1.0"
# What sharebot calls itself to the networks and the sites it reads; derived, never written out again.
USER_AGENT = f"sharebot/{__version__}"
