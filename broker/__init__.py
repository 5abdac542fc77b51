"""The broker: shards generators (and their consumers) to trackers by MurmurHash3 bucket
(installed as scowl.broker)."""
