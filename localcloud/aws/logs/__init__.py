"""CloudWatch Logs: moto, with reads that wait for the runtime's log shipping (``api``), the runtime's lines written
as Lambda writes them (``delivery``), and its share of the edge (``urls``)."""
