"""The command-line doors: one module per group of ``bijia`` commands, each a thin wrapper over the
``service`` function of the same name. ``cli.py`` assembles them into the ``bijia`` app."""
