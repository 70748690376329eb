"""The domain layer: what an offer is and how its values are read (money, codes, availability, text
encodings). Every other package may import it; it imports none of them."""
