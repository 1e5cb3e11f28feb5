"""The robustness card: one table of what every study measures, for a user's own Keras
model beside the project's MLP and LeNet (docs/studies/card.md)."""
