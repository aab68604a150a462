"""A toy third-party locgui method, installed through the ``locgui.methods`` entry-point group
(tests/test_plugins.py writes the ``*.dist-info`` that declares it). docs/plugins.md walks
through it."""
