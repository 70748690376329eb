"""The storefront HTTP API over published snapshots (``storage.snapshots``): the app in ``api.app``,
the server ``bijia serve`` runs in ``api.server``."""
