from sharebot.cli import entry

entry()
