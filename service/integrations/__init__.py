"""What the service exchanges with other systems: the reviewed dataset for training (``dataset_export``)."""
