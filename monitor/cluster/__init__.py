"""Several instances over one PostgreSQL: channel leases, failover, one dispatcher.

``plan`` decides (pure) how many channel leases an instance claims or lets go at each
renewal; ``keeper`` carries that out through ``monitor.storage.leases`` and tells the daemon
which channels it gained and lost; ``dispatch`` runs the alert dispatcher in the one
instance that holds the cluster's dispatch lock; ``identity`` names this instance.
"""
