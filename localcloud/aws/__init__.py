"""AWS's services, laid out as moto lays out its own: one package per service beside the shared layers.

``wire`` (SigV4 scope, error bodies, one exception per error code), ``control`` (moto in process and the
hooks where local must differ), ``backends``, ``motofixes``, ``sidetable`` and ``persistence``; then ``ecr``
(control plane, registry, images), ``awslambda`` (control plane, Invoke, the runtime), ``apigateway``
(control plane and the HTTP API data plane) and ``logs``, each with its ``urls`` (its routes and hooks,
built from the shared :class:`localcloud.cloud.Cloud`). Another cloud's services live beside this package.
"""
