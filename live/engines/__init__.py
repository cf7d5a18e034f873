"""The engines we run but do not write: the bundled Valkey (one server, or a cluster for
tests and benchmarks), the Redis Cluster client, the SQL archive and its migrations, and
the child processes this one owns.

It imports only itself (and ``rooms`` for plain values); everything else in ``live`` may
import it.
"""
