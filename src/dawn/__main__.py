"""``python -m dawn`` runs the command line."""

from dawn.cli import main

if __name__ == "__main__":
    main()
