"""localcloud: the lab's local AWS stand-in (ECR, IAM, STS, Lambda, API Gateway v2, CloudWatch Logs on 127.0.0.1).

For local use only. Start it with ``python -m localcloud up``; from Python, see
:mod:`localcloud.process`. README.md in this folder describes what it emulates.
"""
