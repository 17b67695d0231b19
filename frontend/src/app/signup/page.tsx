import { AuthForm } from "@/components/AuthForm";

export const metadata = { title: "Sign up · taskstream" };

export default function SignupPage() {
  return <AuthForm mode="signup" />;
}
