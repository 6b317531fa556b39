"""A character-level GPT on Tiny Shakespeare (the code is layerwise/models/gpt.py).

    python examples/char_gpt.py                         # the baseline: 2,000 iterations
    python examples/char_gpt.py --iters 200 --eval-batches 50 --out runs/char-gpt
    python examples/char_gpt.py --generate runs/char-gpt/char_gpt.safetensors --prompt "ROMEO:"

benchmarks/char_gpt_torch.py runs the same model in torch from the same weights and batches.
"""
from layerwise.models.gpt import main

if __name__ == "__main__":
    main()
