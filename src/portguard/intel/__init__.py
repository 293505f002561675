"""The ISAC hub: member organisations and sharing communities, the STIX 2.1 store, the TAXII 2.1
server, TLP 2.0 enforcement on every read, sightings, sharing out (exports, push/pull), and the
read-only indicator index every detector queries (``portguard.intel.index``, the one module
other domains may import). See docs/intel.md."""
