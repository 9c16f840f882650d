"""``python -m mrfrecon``: the same command line as the ``mrfrecon`` script."""

from mrfrecon.cli import main

if __name__ == "__main__":
    main()
