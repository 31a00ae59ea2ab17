"""ECR: control plane fixes (``api``), the registry behind the edge (``registry``, ``proxy``), images and layers, host
images, and its share of the edge (``urls``)."""
