// The "checking your browser" page (tessera/risk/templates/risk/check.html): solve the
// challenge and post the form again with its proof.
import { proofFor, targetOf } from "./pow.js";

const form = document.getElementById("risk-form");
if (form) {
  const given = {
    challenge: form.dataset.riskChallenge,
    difficulty: Number(form.dataset.riskDifficulty || 0),
  };
  proofFor(form.dataset.riskPurpose, targetOf(form.action), given).then((proof) => {
    form.elements.tessera_proof.value = proof;
    form.submit();
  });
}
