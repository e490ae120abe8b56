"""The works the laboratory's claims cite, by key: authors, year, an English title and the original one.

A claim or an experiment cites a work as ``"<key>, <where>"`` (``"shen-vin-2023, Corollaire 1"``): the key first,
then the section, figure or equation. The report prints the bibliography once and links each claim to its entry,
instead of repeating a long title on every row; :func:`split_citation` reads a citation back.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reference:
    key: str
    authors: str
    year: int | None
    title: str  # in English
    original_title: str = ""  # when the work (or the version the lab reads) is in another language
    venue: str = ""
    url: str = ""

    @property
    def label(self) -> str:
        """The short form printed beside a claim: ``Shen & Vin 2023``."""
        return f"{self.authors.split(',')[0] if self.authors.count(',') > 1 else self.authors} {self.year or 'n.d.'}"


BIBLIOGRAPHY: dict[str, Reference] = {
    reference.key: reference
    for reference in (
        Reference(
            "merad-2020",
            "Merad",
            2020,
            "Learning theory of neural networks (lecture notes)",
            "Théorie de l'Apprentissage par Réseaux de Neurones",
            "seed document 000",
        ),
        Reference(
            "neurons-lecture-notes",
            "Lecture notes",
            None,
            "Implementing neural networks (lecture notes)",
            "Mise en œuvre de Neurones",
            "seed document 001",
        ),
        Reference(
            "lopes-quintas-2025",
            "Lopès-Quintas",
            2025,
            "Slow and steady: initialization, critical learning periods, dropout and stochastic depth",
            "Rien ne sert de courir, il faut partir à point",
            "seed document 002",
        ),
        Reference(
            "marion-2024",
            "Marion, Wu, Sander & Biau",
            2024,
            "Implicit regularization of deep residual networks towards neural ODEs",
            "Régularisation implicite des réseaux de neurones profonds vers des EDO neuronales",
            "ICLR 2024; seed document 003",
            "https://arxiv.org/abs/2309.01213",
        ),
        Reference(
            "marion-2022",
            "Marion, Fermanian, Biau & Vert",
            2022,
            "Scaling ResNets in the large-depth regime",
            "",
            "arXiv:2206.06929; the paper behind seed document 004",
            "https://arxiv.org/abs/2206.06929",
        ),
        Reference(
            "shen-vin-2023",
            "Shen & Vin",
            2023,
            "The scaling factor of deep ResNets",
            "Facteur de régulation des ResNets profonds",
            "seed document 004",
        ),
        Reference(
            "jacot-2018",
            "Jacot, Gabriel & Hongler",
            2018,
            "Neural tangent kernel: convergence and generalization in neural networks",
            "",
            "NeurIPS 2018; reference [31] of seed document 000",
            "https://arxiv.org/abs/1806.07572",
        ),
        Reference(
            "lee-2019",
            "Lee, Xiao, Schoenholz, Bahri, Novak, Sohl-Dickstein & Pennington",
            2019,
            "Wide neural networks of any depth evolve as linear models under gradient descent",
            "",
            "NeurIPS 2019",
            "https://arxiv.org/abs/1902.06720",
        ),
        Reference(
            "dyer-gur-ari-2019",
            "Dyer & Gur-Ari",
            2019,
            "Asymptotics of wide networks from Feynman diagrams",
            "",
            "ICLR 2020",
            "https://arxiv.org/abs/1909.11304",
        ),
        Reference(
            "arora-2019",
            "Arora, Du, Hu, Li, Salakhutdinov & Wang",
            2019,
            "On exact computation with an infinitely wide neural net",
            "",
            "NeurIPS 2019; reference [7] of seed document 000",
            "https://arxiv.org/abs/1904.11955",
        ),
        Reference(
            "greydanus-2020",
            "Greydanus",
            2020,
            "Scaling down deep learning (the MNIST-1D data set)",
            "",
            "arXiv:2011.14439",
            "https://arxiv.org/abs/2011.14439",
        ),
        Reference(
            "pawlak-2025",
            "Pawlak",
            2025,
            "On the occurrence of critical learning periods in neural networks",
            "",
            "arXiv:2510.09687",
            "https://arxiv.org/abs/2510.09687",
        ),
    )
}


def split_citation(citation: str) -> tuple[Reference | None, str]:
    """``"shen-vin-2023, Corollaire 1"`` → (the reference, ``"Corollaire 1"``); an unknown key gives
    ``(None, citation)``, so that free-text sources still print."""
    key, _, where = citation.partition(",")
    reference = BIBLIOGRAPHY.get(key.strip())
    return (reference, where.strip()) if reference is not None else (None, citation)


def cited_references(citations) -> list[Reference]:
    """The references the citations use, in bibliography order, each once."""
    keys = {reference.key for reference, _ in map(split_citation, citations) if reference is not None}
    return [reference for key, reference in BIBLIOGRAPHY.items() if key in keys]
