"""Who may do what: ``rbac.door.authorize`` answers every permission question;
``rbac.engine.decide`` is the role-level question behind it (simulator, benchmarks)."""
