import { TasksApp } from "@/components/TasksApp";

export default function HomePage() {
  return <TasksApp />;
}
