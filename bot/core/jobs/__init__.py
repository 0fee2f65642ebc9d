"""Jobs: the persisted state machine, the quota ledger, and the runner that drives jobs."""
