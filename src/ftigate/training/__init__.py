"""Training the identity model on synthetic data (never real): the one place where the
resolver meets the generator, so that `resolve` never imports `synth`."""
