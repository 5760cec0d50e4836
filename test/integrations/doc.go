// Package integrations tests the GitOps integrations sctpguard ships at the repository's
// root, as the tools that run them would: the GitHub Action (action.yml) and the pre-commit
// hook (.pre-commit-hooks.yaml). Their commands run with the sctpguard built from this
// checkout instead of the one go install would fetch; nothing goes to the network.
package integrations
