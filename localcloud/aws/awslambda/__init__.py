"""Lambda: control plane fixes (``api``, ``provisioned``), function lookup (``catalog``), Invoke, and the runtime
(``runtime`` -> ``pools`` -> ``environment`` with its ``launchers``; ``answers`` classifies, ``lambdalog`` logs);
``urls`` puts them together as Lambda's share of the edge."""
