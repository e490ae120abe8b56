"""Side-by-side speed and memory of neurones and PyTorch eager on the same machine (``neurones bench``)."""
