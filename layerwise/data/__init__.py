"""Feeding a training loop: datasets, samplers, DataLoader (torch.utils.data's API), plus
image transforms (``layerwise.data.transforms``) and ready-made datasets
(``layerwise.data.datasets``: Digits, MNIST, FashionMNIST).

    from layerwise.data import DataLoader, TensorDataset
    loader = DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True, generator=g)
    for xb, yb in loader: ...
    ckpt["loader"] = loader.state_dict()        # resumes mid-epoch, bit for bit

Like torch.utils.data, this package needs NumPy only (scikit-learn just for Digits).
"""
from . import datasets, text, transforms
from ._workers import WorkerInfo, get_worker_info
from .dataloader import DataLoader, default_collate, default_convert
from .dataset import (ConcatDataset, Dataset, IterableDataset, Subset, TensorDataset,
                      random_split)
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      SubsetRandomSampler, WeightedRandomSampler)
from .text import CharTokenizer, LMBatcher, TinyShakespeare, fixed_batches, lm_batches

__all__ = ["DataLoader", "default_collate", "default_convert", "Dataset", "IterableDataset",
           "TensorDataset", "Subset", "ConcatDataset", "random_split", "Sampler",
           "SequentialSampler", "RandomSampler", "SubsetRandomSampler", "WeightedRandomSampler",
           "BatchSampler", "datasets", "transforms", "text", "CharTokenizer", "TinyShakespeare",
           "LMBatcher", "lm_batches", "fixed_batches", "get_worker_info", "WorkerInfo"]
