"""The composition root: the one place that wires settings, storage, bus, port model, domain
consumers and the HTTP API together (``portguard.app.runtime``). Nothing else builds these
objects. Its migrations cover every domain's tables."""
