from agentshell.cli.app import main

try:
    main()
finally:
    # CPython (3.11) remembers a KeyboardInterrupt that escaped any exec() of source text, as dataclasses run
    # one per class, even when it was handled later, and `python -m` then ends by SIGINT instead of our exit
    # code 130. Running source text clears that; a KeyboardInterrupt that escapes main() still counts.
    exec("")
