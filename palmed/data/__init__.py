"""Reference data shipped with the sandbox: the demo roster, NAPPI products, tariffs."""
