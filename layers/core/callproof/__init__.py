"""CallProof core: shared configuration, observability, domains, ports and adapters."""
