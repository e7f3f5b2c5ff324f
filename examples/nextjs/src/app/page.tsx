import { SignIn } from "./sign-in";

export default function Home() {
  return (
    <main>
      <h1>Sign in</h1>
      <p>Demo users: alice, bob, carol, dave, erin, frank; password: the name + "-demo-pass".</p>
      <SignIn />
    </main>
  );
}
