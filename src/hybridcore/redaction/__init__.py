"""The scrubbing engine every writer uses: secret values and credential shapes."""
