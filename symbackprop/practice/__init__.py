"""Practice in the browser: a local web app where a student works one drawn exercise and verify marks it."""
