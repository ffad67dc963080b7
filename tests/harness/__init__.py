"""The test harness: a throwaway Docker world on loopback (engine, registries, keyring)."""
