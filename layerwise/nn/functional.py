"""(in progress) layerwise.nn.functional: stateless layer functions, torch.nn.functional's API."""
