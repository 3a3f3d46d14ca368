from sharebot.cli import main

main()
