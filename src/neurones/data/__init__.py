"""Data: datasets, samplers and the loader (as in ``torch.utils.data``), array transforms, generated datasets,
MNIST-1D, and readers for MNIST and CIFAR-10 files."""

from neurones.data.collate import default_collate
from neurones.data.dataset import Dataset, Subset, TensorDataset, random_split
from neurones.data.loader import DataLoader
from neurones.data.mnist1d import default_cache_dir, load_mnist1d
from neurones.data.readers import load_cifar10, load_mnist, read_idx
from neurones.data.sampler import BatchSampler, RandomBatchSampler, RandomSampler, Sampler, SequentialSampler
from neurones.data.synthetic import (
    gaussian_inputs_outputs,
    gaussian_regression,
    sphere_separated,
    teacher_student,
    two_layer_relu_teacher,
    two_spirals,
    unit_sphere,
    xor,
)
from neurones.data.transforms import (
    Blur1d,
    Compose,
    DownUpSample,
    GaussianBlur,
    Normalize,
    OneHot,
    RandomCrop,
    RandomHorizontalFlip,
    TimeReversal,
    one_hot,
)

__all__ = [
    "BatchSampler",
    "Blur1d",
    "Compose",
    "DataLoader",
    "Dataset",
    "DownUpSample",
    "GaussianBlur",
    "Normalize",
    "OneHot",
    "RandomBatchSampler",
    "RandomCrop",
    "RandomHorizontalFlip",
    "RandomSampler",
    "Sampler",
    "SequentialSampler",
    "Subset",
    "TensorDataset",
    "TimeReversal",
    "default_cache_dir",
    "default_collate",
    "gaussian_inputs_outputs",
    "gaussian_regression",
    "load_cifar10",
    "load_mnist",
    "load_mnist1d",
    "one_hot",
    "random_split",
    "read_idx",
    "sphere_separated",
    "teacher_student",
    "two_layer_relu_teacher",
    "two_spirals",
    "unit_sphere",
    "xor",
]
