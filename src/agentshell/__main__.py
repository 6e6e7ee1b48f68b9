from agentshell.cli.app import main

main()
