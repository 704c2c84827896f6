"""Head office's dashboard: the pages, and the wiring of the head-office APIs behind them."""
