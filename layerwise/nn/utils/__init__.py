"""Utilities on parameters: gradient clipping and flattening to one vector (torch.nn.utils)."""
from .clip_grad import clip_grad_norm_, clip_grad_value_, get_total_norm
from .convert_parameters import parameters_to_vector, vector_to_parameters
from . import rnn  # noqa: E402
