"""Scaling out: preprocess a corpus of videos into the content-addressed cache, in this process, a local process
pool or a Ray cluster (``scale.preprocess`` plans and runs the jobs, ``scale.engines`` spreads them).
Training data-parallel over several processes lives with the training loop (``pseudopulse.train.distributed``).
"""
